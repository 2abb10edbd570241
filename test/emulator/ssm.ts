// SSM actions (AmazonSSM.<Action>): reads, writes and tags in one table.
import type { ActionHandler } from './context.ts';
import { SSM_READ_ACTIONS } from './ssm-read.ts';
import { SSM_TAG_ACTIONS } from './ssm-tags.ts';
import { SSM_WRITE_ACTIONS } from './ssm-write.ts';

export const SSM_ACTIONS: Record<string, ActionHandler> = { ...SSM_READ_ACTIONS, ...SSM_WRITE_ACTIONS, ...SSM_TAG_ACTIONS };
