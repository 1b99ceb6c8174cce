"""The local executor: blocks as subprocesses on this machine, python blocks in a session kernel."""
