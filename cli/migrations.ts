import { ACTUATOR_MIGRATIONS, EXECUTION_MIGRATIONS } from '../actuators/index.ts';
import { API_MIGRATIONS } from '../api/index.ts';
import type { Migration } from '../core/index.ts';
import { forecast } from '../models/index.ts';
import { SCHEDULER_MIGRATIONS } from '../scheduler/index.ts';

/** Every module's PostgreSQL migrations, in dependency order (execution rows reference plans): what a process applies at start. */
export const ALL_MIGRATIONS: readonly Migration[] = Object.freeze([...forecast.FORECAST_REGISTRY_MIGRATIONS, ...SCHEDULER_MIGRATIONS, ...ACTUATOR_MIGRATIONS, ...EXECUTION_MIGRATIONS, ...API_MIGRATIONS]);
