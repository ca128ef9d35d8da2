"""Test plumbing shared by the tests and the benchmarks: clones of the worktree, remotes, an S3 server on 127.0.0.1."""
