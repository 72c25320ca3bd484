"""Running the product: webhook health and its self-test, queues and lag, Prometheus
metrics, health checks, worker heartbeats, reconciliation with Twilio, and retention."""
