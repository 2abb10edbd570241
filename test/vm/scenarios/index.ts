// The VM scenarios in the order they run on one guest (later ones build on the state earlier ones leave).
import type { Scenario } from '../lib/scenario.ts';
import { smoke } from './00-smoke.ts';

export const SCENARIOS: Scenario[] = [smoke];
