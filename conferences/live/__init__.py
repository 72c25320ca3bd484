"""Live conferences: who may see and act on them, the roster, invite lists and bulk dials,
participant actions, and the sweep that removes voicemail and redials dropped invitees."""
