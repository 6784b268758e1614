"""LDAP / Active Directory login (optional extra ``beistand[ldap]``)."""

from django_auth_ldap.backend import LDAPBackend


class EmployeeLDAPBackend(LDAPBackend):
    pass
