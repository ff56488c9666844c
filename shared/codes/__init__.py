"""genWxacode's wing: code requests, the generator with its cache, batches, continuation and storage."""
