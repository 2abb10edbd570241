// Build plugin: small, exact source patches to SDK modules that make Node-only start-up cheaper without changing
// what they return. Each patch must match its text exactly, or the build fails (an SDK upgrade must re-check it).
import { readFile } from 'node:fs/promises';

const PATCHES = [
  {
    // Reading the ReadableStream global loads Node's web streams (~3 ms CPU, 1.5 MiB) just to learn that an
    // http.IncomingMessage is not one; a Node Readable is never a web stream or a Blob, so ask that first.
    file: /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]serde[\\/]util-stream[\\/]stream-type-check\.js$/,
    edits: [
      ['export const isReadableStream = (stream) => typeof ReadableStream', 'import { Readable as NodeReadable } from "node:stream";\nexport const isReadableStream = (stream) => !(stream instanceof NodeReadable) && typeof ReadableStream'],
      ['return typeof Blob === "function"', 'return !(blob instanceof NodeReadable) && typeof Blob === "function"'],
    ],
  },
];

export const sdkPatches = {
  name: 'sdk-patches',
  setup(build) {
    for (const { file, edits } of PATCHES) {
      build.onLoad({ filter: file }, async ({ path }) => {
        let contents = await readFile(path, 'utf8');
        for (const [from, to] of edits) {
          if (contents.split(from).length !== 2) throw new Error(`sdk-patches: ${path} no longer contains exactly one "${from}"`);
          contents = contents.replace(from, to);
        }
        return { contents, loader: 'js' };
      });
    }
  },
};
