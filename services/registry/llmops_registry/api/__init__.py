"""Transport: the gRPC servicer and the event subscribers. Translation only: parse, call one
handler, convert the result."""
