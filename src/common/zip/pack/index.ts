export { PackagingRefusal } from './errors';
export { packFolder, STORED_EXTENSIONS, type PackOptions, type PackProgress, type PackResult } from './packager';
