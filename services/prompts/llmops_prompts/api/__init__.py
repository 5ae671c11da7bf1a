"""Transport: the gRPC servicer. Translation only."""
