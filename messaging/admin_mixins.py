"""What the admin modules of every app share."""


class ReadOnlyAdmin:
    """Rows that only services write: editing them in the admin would skip
    the access policy, the audit trail and the live events. Changes are
    made through the admin's actions, which call services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
