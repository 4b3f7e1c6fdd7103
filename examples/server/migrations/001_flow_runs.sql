-- Flow runs: the records the API serves.
create table flow_runs (
  id bigint generated always as identity primary key,
  name text not null check (length(name) between 1 and 200),
  parameters jsonb not null default '{}'::jsonb,
  state text not null default 'SCHEDULED',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index flow_runs_created_at on flow_runs (created_at desc, id desc);
