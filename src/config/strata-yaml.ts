/**
 * The text `strata init` writes. Every key is explained in place, because strata.yaml is
 * the first file a newcomer opens; `plan infer --write` later edits the `plan:` section
 * through the YAML Document API so these comments survive.
 */
export const CONFIG_FILE = 'strata.yaml';

export function strataYamlTemplate(): string {
  return `# Strata workspace. The CLI finds this file like git finds a repository: in the
# current folder, then upward; \`--workspace DIR\` points at another one.
version: 1

# Folder (relative to this file) holding the store, ingest rejects and other files
# Strata writes. Keep it out of version control; keep strata.yaml in it.
data_dir: data

# Folder (relative to this file) holding segment definitions (*.yaml, *.yml, *.json).
# \`strata segment add\` without arguments adds every definition found there.
segments_dir: segments

# Where events, profiles and segment memberships are stored.
store:
  # duckdb: one embedded DuckDB file, no server needed.
  engine: duckdb
  # The DuckDB file, relative to data_dir (or an absolute path).
  path: strata.duckdb
  # Optional: DuckDB worker threads (default: all cores) and memory cap (e.g. 4GB).
  # threads: 4
  # memory_limit: 4GB
  #
  # clickhouse: a ClickHouse server (18.16 or later) over HTTP, or a sharded cluster.
  # Replace the settings above with, for example:
  #   engine: clickhouse
  #   url: http://localhost:8123
  #   database: strata            # created if missing
  #   username: default           # optional, as is password
  #   cluster:                    # optional: events sharded by user over these shards
  #     name: analytics           # the cluster's name in the servers' remote_servers
  #     shards: [http://ch1:8123, http://ch2:8123]

# The tracking plan: what events and traits exist and their types. Ingestion validates
# every row against it; segments may only use what it declares.
# \`strata plan infer FILE... --write\` proposes and merges it from your data files.
plan:
  # Fields the plan does not declare: drop (default; the field is dropped and counted)
  # or reject (the whole row goes to the rejects file).
  undeclared: drop

  # Events further apart than this start a new session (m, h, d or w; default 30m).
  session_gap: 30m

  # Declared events. Each has typed properties (string, number, boolean, timestamp);
  # a property name has one type across all events. retention_days (optional) is how
  # long events of that kind are kept. Example:
  #
  #   purchase:
  #     description: A completed order line.
  #     retention_days: 730
  #     properties:
  #       amount: number
  #       currency: string
  #       gift: boolean
  #
  # Experiments (strata experiment) read exposures from $exposure events, which carry
  # the experiment key and the variant the user saw. Declare them to use exposure: event:
  #
  #   $exposure:
  #     properties:
  #       experiment: string
  #       variant: string
  #
  # Consent is recorded as $consent events (purpose: analytics, personalization or
  # marketing; granted: true or false; source: where it came from, e.g. banner). Declare
  # them to record consent; ingest then drops the events of users who opted out of
  # analytics, from their opt-out on. A property may be flagged pii (hashed or dropped at
  # ingest) or ip (an IP address, truncated or dropped; a string field named ip or
  # ip_address is one unless it says ip: false):
  #
  #   $consent:
  #     properties:
  #       purpose: string
  #       granted: boolean
  #       source: string
  #   page_view:
  #     properties:
  #       path: string
  #       client_ip: { type: string, ip: true }
  events: {}

  # Declared profile traits (who users are), upserted trait by trait. A trait is a type
  # or a mapping with flags: pii (personal data, minimized at ingest) and sensitive
  # (audits only: segments may not target on it). Example:
  #
  #   plan_tier: string
  #   signup_at: timestamp
  #   email: { type: string, pii: true }
  #   age_band: { type: string, sensitive: true }
  #   consent_marketing: boolean        # consent_analytics / _personalization / _marketing:
  #                                     # recorded as $consent events (source profile)
  traits: {}

# Privacy (optional; these are the defaults). See docs/privacy.md.
# privacy:
#   pii: hash                           # pii fields: hash (SHA-256, or HMAC with the key below) | drop
#   ip: truncate                        # IP fields: truncate (IPv4 /24, IPv6 /48) | drop
#   pseudonymize:                       # replace user ids at ingest by HMAC-SHA256(key, id)
#     key_env: STRATA_PSEUDONYM_KEY     # an environment variable holding the key (32+ bytes), or
#     # key_file: /etc/strata/key       # a file outside data_dir; never put the key in this file
#   consent:                            # what users without a $consent record have
#     analytics: granted                # granted: opt-out; denied: events stored only after a grant
#     personalization: denied
#     marketing: denied

# Optional analysis sections: uncomment and adapt them once the plan above declares the
# events and traits they name.
#
# Lifecycle stages: each user is in exactly one (strata lifecycle report | flow, and
# {lifecycle: STAGE} in segments). Without this section the activity stages (new,
# engaged, at_risk, dormant, resurrected) use their defaults. See docs/lifecycle.md.
# lifecycle:
#   core_action: task_completed         # the event that delivers the product's value
#   advocacy_event: invite_sent         # e.g. inviting a colleague
#
# Key moments: a named instant per user (strata moments list | show KEY).
# See docs/moments.md.
# moments:
#   first-core-action:
#     first: task_completed
#   stalled-activation:                 # 3 days after signup without a core action
#     absence: task_completed
#     after: {trait: signup_at}         # a timestamp trait, or {event: signed_up}
#     within: 3d
#
# RFM: what a purchase is and what it is worth (strata rfm, and conversion and revenue
# in strata segment report and lint). See docs/rfm.md.
# rfm:
#   event: purchase
#   value: amount                       # a number property: the amount, or the unit price
#   # quantity: quantity                # optional number property, multiplied with value

# Experiments are not configured here: each is a YAML or JSON file (keep them in a folder
# such as experiments/) stored with \`strata experiment add FILE|DIR\`, which checks it
# against this plan and the stored segments. See docs/experiments.md.
`;
}
