/**
 * The TFRecord file format: a sequence of records, each
 *   uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data.
 * The writer frames records; the reader streams them out of any async source of chunks (a file
 * read stream, a FUSE-mounted file, an S3 body) and checks both checksums, so corruption between
 * the writer and the trainer is reported where it is, not fed to a model.
 */
import { ByteQueue } from './byte-queue.js';
import { maskedCrc32c } from './crc32c.js';

const HEADER = 12; // length + its CRC
const FOOTER = 4; // data CRC

export class TFRecordError extends Error {
  override readonly name = 'TFRecordError';
  constructor(
    message: string,
    /** Byte offset in the file of the record that is bad. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** One record framed as TFRecord: header, data, footer. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + data.length + FOOTER);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER);
  out.writeUInt32LE(maskedCrc32c(data), HEADER + data.length);
  return out;
}

/** A whole TFRecord file from its records. */
export function encodeRecords(records: Iterable<Uint8Array>): Buffer {
  return Buffer.concat([...records].map(encodeRecord));
}

export interface ReadOptions {
  /** Named in errors: a file path or URL. */
  name?: string;
  /** Records longer than this are refused as corrupt before anything is allocated (default 1 GiB). */
  maxRecordBytes?: number;
}

/**
 * Yields each record's data from a stream of chunks. Throws TFRecordError naming the file and the
 * byte offset of the record when a length or data CRC does not match, or the stream ends inside
 * a record.
 */
export async function* readRecords(source: AsyncIterable<Uint8Array>, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
  const name = opts.name ?? 'TFRecord stream';
  const maxBytes = opts.maxRecordBytes ?? 2 ** 30;
  const queue = new ByteQueue();
  let offset = 0; // file offset of the record being parsed
  let dataLength = -1; // known once the header has been read and checked
  const fail = (what: string): never => {
    throw new TFRecordError(`${name}: ${what} (record at byte offset ${offset})`, offset);
  };
  for await (const chunk of source) {
    queue.push(chunk);
    for (;;) {
      if (dataLength < 0) {
        if (queue.length < HEADER) break;
        const header = queue.take(HEADER);
        const stored = header.readUInt32LE(8);
        const computed = maskedCrc32c(header.subarray(0, 8));
        if (stored !== computed) fail(`length CRC mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})`);
        const length = header.readBigUInt64LE(0);
        if (length > BigInt(maxBytes)) fail(`record length ${length} over the limit of ${maxBytes} bytes`);
        dataLength = Number(length);
      }
      if (queue.length < dataLength + FOOTER) break;
      const data = queue.take(dataLength);
      const stored = queue.take(FOOTER).readUInt32LE(0);
      const computed = maskedCrc32c(data);
      if (stored !== computed) fail(`data CRC mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})`);
      offset += HEADER + dataLength + FOOTER;
      dataLength = -1;
      yield data;
    }
  }
  if (dataLength >= 0 || queue.length > 0) fail('truncated: the data ends inside a record');
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');
