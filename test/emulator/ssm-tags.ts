// Parameter tags: AddTagsToResource, RemoveTagsFromResource, ListTagsForResource.
import type { ActionHandler, CallContext } from './context.ts';
import { AwsError } from './errors.ts';
import { optionalStringList, optionalTags, requireString, type Input } from './input.ts';
import { plainParameter } from './ssm-write.ts';
import type { Parameter } from './store.ts';

function taggedParameter(ctx: CallContext, input: Input): Parameter {
  const type = requireString(input, 'ResourceType');
  if (type !== 'Parameter') throw new AwsError('InvalidResourceType', 'The resource type is not valid for this emulator (only Parameter).');
  try {
    return plainParameter(ctx, input, 'ResourceId');
  } catch (err) {
    if (err instanceof AwsError && err.type === 'ParameterNotFound') {
      throw new AwsError('InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.');
    }
    throw err;
  }
}

export const SSM_TAG_ACTIONS: Record<string, ActionHandler> = {
  AddTagsToResource: (ctx, input) => {
    const parameter = taggedParameter(ctx, input);
    for (const [k, v] of optionalTags(input, 'Tags') ?? []) parameter.tags.set(k, v);
    return {};
  },
  RemoveTagsFromResource: (ctx, input) => {
    const parameter = taggedParameter(ctx, input);
    for (const k of optionalStringList(input, 'TagKeys') ?? []) parameter.tags.delete(k);
    return {};
  },
  ListTagsForResource: (ctx, input) => ({
    TagList: [...taggedParameter(ctx, input).tags].map(([Key, Value]) => ({ Key, Value })),
  }),
};
