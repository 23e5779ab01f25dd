/**
 * The persistent frame index (`indexCache` option, or the TVL_INDEX_CACHE environment variable):
 * each file's index is stored in a directory, so a dataset's workers and later runs open a long
 * video without demuxing it again, and an index proven by decoding is paid for once.
 *
 * An entry's name is a hash of what identifies the file's contents and how the index was built:
 * its absolute path, size and modification time, its first and last 64 KiB, the backend and the
 * index mode. A file that changed gets a new name, so a stale entry is never read. The bytes are
 * the backend's own (native) serialisation, which checks itself (magic, version, sizes, checksum,
 * the stream's time base) and is rebuilt when anything is off. Writers write a temporary file and
 * rename it, so concurrent workers never see half an entry.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SAMPLE = 64 * 1024;
const VERSION = 'tvl-index-cache-1';

/** The cache directory to use: the option, else TVL_INDEX_CACHE, else none. */
export function indexCacheDir(option: string | undefined): string | undefined {
  const dir = option ?? process.env.TVL_INDEX_CACHE;
  return dir && dir.length > 0 ? dir : undefined;
}

/** The entry's file for `file` opened by `backend` with `mode`; null when the file cannot be read. */
export function indexCacheEntry(dir: string, file: string, backend: string, mode: string): string | null {
  let fd: number | undefined;
  try {
    const absolute = path.resolve(file);
    fd = fs.openSync(absolute, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return null;
    const hash = createHash('sha256').update(`${VERSION}\0${absolute}\0${st.size}\0${st.mtimeMs}\0${backend}\0${mode}\0`);
    const head = Buffer.alloc(Math.min(SAMPLE, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(SAMPLE, st.size));
    fs.readSync(fd, tail, 0, tail.length, Math.max(0, st.size - tail.length));
    hash.update(head).update(tail);
    return path.join(dir, `${hash.digest('hex').slice(0, 40)}.tvlidx`);
  } catch {
    return null; // the open that follows reports what is wrong with the file
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function readIndexCache(entry: string): Buffer | undefined {
  try {
    return fs.readFileSync(entry);
  } catch {
    return undefined;
  }
}

/** Stores an entry (temporary file, then rename). A cache that cannot be written is skipped, never an error. */
export function writeIndexCache(entry: string, bytes: Uint8Array): void {
  const tmp = `${entry}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(path.dirname(entry), { recursive: true });
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, entry);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
