"""Pure helpers every area uses: no models, no area, no Twilio SDK (see docs/architecture.md)."""
