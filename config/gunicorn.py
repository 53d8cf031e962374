"""gunicorn's settings, the same for docker compose and scripts/run.sh (`gunicorn -c config/gunicorn.py
config.wsgi`); the address and the number of workers are given on the command line, since they differ.

The access log names who asked for what and how it ended, never a query string: query strings can carry a search term or
a token, and the log leaves the PHI boundary (log pipeline, support tickets). One line per request: the connecting
address (the proxy, in compose), the client's address as the proxy saw it (deploy/Caddyfile overwrites X-Forwarded-For,
so a client cannot forge it; "-" without a proxy), time, method, path without its query, protocol, status, bytes,
seconds, and the request id (care_events/platform/request_id.py) that every log line of the request carries."""

accesslog = "-"
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s %({x-request-id}o)s'
# A request the app takes longer than this to answer is killed (its worker restarted): no API call is that slow.
timeout = 30
# Connections kept open this long between requests from the proxy.
keepalive = 5
