import * as path from 'path';

/** Extensions of formats that are already compressed: deflating them again costs time and saves nothing. */
export const STORED_EXTENSIONS: ReadonlySet<string> = new Set([
  // archives and compressed streams
  '.zip',
  '.gz',
  '.tgz',
  '.bz2',
  '.tbz2',
  '.xz',
  '.txz',
  '.zst',
  '.lz4',
  '.lzma',
  '.7z',
  '.rar',
  '.br',
  // images, audio, video
  '.png',
  '.jpg',
  '.jpeg',
  '.gif',
  '.webp',
  '.avif',
  '.heic',
  '.mp3',
  '.aac',
  '.ogg',
  '.opus',
  '.flac',
  '.m4a',
  '.mp4',
  '.m4v',
  '.mkv',
  '.webm',
  '.avi',
  '.mov',
  // data and model formats that compress internally (or are zips themselves)
  '.parquet',
  '.npz',
  '.pt',
  '.pth',
  '.h5',
  '.onnx',
  '.whl',
  '.jar',
  '.docx',
  '.xlsx',
  '.pptx',
  '.odt',
  '.ods',
  '.pdf',
  '.epub',
  '.apk',
]);

export function isStoredByName(file: string): boolean {
  return STORED_EXTENSIONS.has(path.extname(file).toLowerCase());
}
