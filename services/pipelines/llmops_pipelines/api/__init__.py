"""Transports: the gRPC servicer and the event subscribers (translation only)."""
