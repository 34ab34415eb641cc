/** Injection token of the validated KnowledgeSettings (from the gateway's settings). */
export const KNOWLEDGE_SETTINGS = Symbol('KNOWLEDGE_SETTINGS');
