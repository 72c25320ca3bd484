"""The only package that imports the `twilio` SDK.

`client` makes the calls; `types` holds what goes in and comes out; `errors` is the one
error type; `signatures` signs and validates Twilio's request signatures; `media` streams
recordings. Views and the webhook receiver never import `client` (import-linter says so)."""
