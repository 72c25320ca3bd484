"""Dialing one caller: the dial form mirrored from the schema, its page, presets, and the
exactly-once pipeline that submits, paces and places the dial, and sweeps up lost tasks."""
