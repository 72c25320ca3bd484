"""Twilio's status callbacks: what they mean, how they are read, stored exactly once,
applied forward-only, replayed for a timeline, counted, and relayed to operators' URLs."""
