export { FileSystem, type CreateFileOptions, type SetAttributeOptions } from './file-system.js';
export { FileInStream } from './file-in-stream.js';
export { FileOutStream } from './file-out-stream.js';
