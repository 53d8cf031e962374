"""`manage.py migrate` as the tables' owner (DATABASE_MIGRATE_URL), then the runtime role's grants.

Django's own command, run on a connection that logs in as the owner; afterwards the runtime role (DATABASE_URL's
user) is granted what the product needs and no more: care_events/platform/audit/database_roles.py. Without
DATABASE_MIGRATE_URL it is Django's command unchanged.
"""

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from care_events.platform.audit.database_roles import as_table_owner, runtime_role_grant


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " As the tables' owner (DATABASE_MIGRATE_URL), then the runtime role's grants."

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with as_table_owner(database) as runtime_role:
            super().handle(*args, **options)
            if runtime_role is not None:
                runtime_role_grant(runtime_role, database)
                if options["verbosity"] >= 1:
                    self.stdout.write(
                        f"Granted the runtime role {runtime_role}: the audit trail INSERT and SELECT only."
                    )
