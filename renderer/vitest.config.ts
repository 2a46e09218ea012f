// Vitest for the renderer's logic and components (npm run test:ui); node:test runs the rest.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
});
