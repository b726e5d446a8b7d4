"""Identities (accounts, root users, access keys, sessions) and, later, the policy engine."""
