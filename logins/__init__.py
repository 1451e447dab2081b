"""Logins: the county administrator's page to create, change and disable logins with their role and
scope, reset passwords, and see when each was last used."""
