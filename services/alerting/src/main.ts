import 'reflect-metadata';
import { runService } from '@hishamos/platform';
import { definition } from './index';

runService(definition);
