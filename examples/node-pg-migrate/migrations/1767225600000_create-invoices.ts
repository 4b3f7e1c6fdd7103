import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable('invoices', {
    id: 'id',
    customer: { type: 'text', notNull: true },
    issued_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('invoices');
}
