import { DataSource } from 'typeorm';
import { databaseConfig } from '#src/config/database.config.js';
import { dataSourceOptions } from './data-source-options.js';

/**
 * The data source of the TypeORM CLI (`npm run migration:*`), run on the built code so that
 * entity files are plain JavaScript.
 */
export default new DataSource({
  ...dataSourceOptions(databaseConfig()),
  entities: [new URL('../**/*.entity.js', import.meta.url).pathname],
});
