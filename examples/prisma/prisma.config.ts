import { defineConfig } from 'prisma/config';

// `prisma generate` needs only the schema; the app connects through the adapter (see prisma.mjs).
export default defineConfig({ schema: 'schema.prisma' });
