// `@nexstream/hls-broadcaster/libsql`: channels' playlists in libSQL (a database file, or sqld / Turso shared by
// several instances). A separate entry, so that applications on the default file storage never load the client.
export {
  createLibsqlPlaylistStorage,
  importPlaylistFiles,
  type LibsqlPlaylistStorage,
  type LibsqlPlaylistStorageOptions,
  type PlaylistImportReport,
} from './libsql-storage.js';
