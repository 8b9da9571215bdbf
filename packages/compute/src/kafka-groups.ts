import type { Kafka } from "kafkajs";
import { settlesWithin } from "@quantcore/runtime";

/** Deletes a consumer group; one already gone (never created, or deleted before) counts as done. */
export async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } catch (err) {
    const groups = (err as { groups?: { errorCode?: number }[] }).groups;
    if (!groups?.every((g) => g.errorCode === 69 /* GROUP_ID_NOT_FOUND */)) throw err;
  } finally {
    await settlesWithin(admin.disconnect(), 5_000);
  }
}
