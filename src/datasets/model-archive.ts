/**
 * A TensorFlow.js model as one file, the way TensorFlow's image examples ship theirs
 * (inception-2015-12-05.tgz): a gzipped tar of the files in the model's folder (model.json, its
 * weight shards, labels.txt), without folders, owners or mode bits, so that it unpacks the same
 * anywhere, a FUSE mount included.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import * as tar from 'tar';

/** Packs every plain file directly in `modelDir` into the .tgz `archive`; returns their names. */
export async function packModelArchive(modelDir: string, archive: string): Promise<string[]> {
  const files = (await readdir(modelDir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  if (!files.includes('model.json')) throw new Error(`${modelDir} has no model.json: not a TensorFlow.js model folder`);
  await tar.c({ gzip: true, file: archive, cwd: modelDir, portable: true }, files);
  return files;
}

/**
 * Unpacks `archive` into `intoDir` (made if missing) and returns the names it wrote. Only plain
 * files at the top level are taken: a model archive has no business writing anywhere else.
 */
export async function extractModelArchive(archive: string, intoDir: string): Promise<string[]> {
  await mkdir(intoDir, { recursive: true });
  const names: string[] = [];
  await tar.x({
    file: archive,
    cwd: intoDir,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const plain = 'type' in entry && entry.type === 'File' && basename(path) === path;
      if (plain) names.push(path);
      return plain;
    },
  });
  if (!names.includes('model.json')) throw new Error(`${archive} holds no model.json: not a TensorFlow.js model archive`);
  return names.sort();
}
