"""The product's story, end to end, against a running server (`manage.py demo`).

The demo plays the interaction agent through the REST API and watches the rest happen in the database the server
writes to (play.py). It sees the whole product (patients and events, nurses and tasks, notification logs), so it
lives in its own app above every domain app: it imports care_events, tasks_app and notifications, nothing imports
it, and production does not install it.

- accounts.py: the demo's nurses on shift, its agent service account, their API keys (ORM writes, here);
- script.py: the made-up patient and her answer, the one-minute flag;
- play.py: the steps, played and watched;
- agent.py: the agent's (or a nurse's) POSTs to the API;
- hints.py: what the database says about a step that did not happen;
- timeline.py: the steps in order, printed as they happen, bounded waits, the summary.
"""

from demo.story.accounts import DemoAccounts, demo_accounts_ensure
from demo.story.hints import server_command
from demo.story.play import demo_story_play
from demo.story.timeline import (
    BREACH_STORY,
    CHECKIN,
    FLAG_RAISED,
    RESOLUTION,
    RESOLVE_STORY,
    SLA_BREACH,
    SLA_WARNING,
    DemoResult,
    Step,
    demo_summary,
)

__all__ = [
    "BREACH_STORY",
    "CHECKIN",
    "FLAG_RAISED",
    "RESOLUTION",
    "RESOLVE_STORY",
    "SLA_BREACH",
    "SLA_WARNING",
    "DemoAccounts",
    "DemoResult",
    "Step",
    "demo_accounts_ensure",
    "demo_story_play",
    "demo_summary",
    "server_command",
]
