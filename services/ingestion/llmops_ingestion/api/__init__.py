"""Transport: gRPC servicer and event subscribers."""
