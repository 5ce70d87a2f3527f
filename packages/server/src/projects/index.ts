export {
  type CreateProjectInput,
  PROJECT_NAME_PATTERN,
  ProjectService,
  type UpdateProjectInput,
} from './service.ts';
