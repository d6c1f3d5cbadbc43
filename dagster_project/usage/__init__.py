"""Usage metering domain: control-plane snapshot, landing from Kafka, period closing."""
