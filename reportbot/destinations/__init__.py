"""Where reports go: one module per channel, each raising ``DeliveryError``."""
