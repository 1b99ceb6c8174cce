"""The session record: where autorun keeps it (out of the code's reach) and how it is read back."""
