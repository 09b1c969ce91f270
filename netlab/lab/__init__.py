"""Application services over the engine and the kernel: status document, live link
control, preflight, cleanup, graph building, teardown from a journal, fault injection,
the fan-out of a command to the hosts of a lab across hosts."""
