"""Transport: the gRPC servicer, its conversions, and the event subscribers."""
