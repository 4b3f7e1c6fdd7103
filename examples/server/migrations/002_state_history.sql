-- Every state change of a flow run, kept for auditing.
create table flow_run_states (
  flow_run_id bigint not null references flow_runs (id) on delete cascade,
  state text not null,
  changed_at timestamptz not null default now()
);
create index flow_run_states_run on flow_run_states (flow_run_id, changed_at);
