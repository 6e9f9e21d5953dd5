"""Tools around the product: the benchmark (`bench`) and the demo desk (`demo`)."""
