from care_events.management.commands import create_agent_token
from care_events.platform.api_clients.models import TokenScope
from care_events.platform.roles import HOSPITAL_FEED


class Command(create_agent_token.Command):
    help = (
        "Create the hospital feed's service account (a user in the group 'Hospital feed': it may record patients, "
        "stays and discharges through /fhir/, nothing else) if needed, and give it a new API key of scope 'feed'. "
        "Prints only the key. An existing key is revoked at once, or, with --rotate, stays valid for "
        "API_TOKEN_ROTATION_OVERLAP_MINUTES."
    )
    role, scope = HOSPITAL_FEED, TokenScope.FEED
