"""camvault's performance harness: `make bench` (or `python -m bench`). See bench/README.md."""
