"""The sandbox executor: the local executor's processes inside a bubblewrap world."""
