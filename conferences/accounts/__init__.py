"""Who may do what (the action x role table), role groups, masking, Twilio accounts."""
