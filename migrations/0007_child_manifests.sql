-- Marks manifests that an image index has referenced, so that once no index
-- does and no tag names them, garbage collection removes them. Manifests
-- pushed on their own (untagged images) are left to lifecycle policies.
ALTER TABLE manifests ADD COLUMN child_of_index INTEGER NOT NULL DEFAULT 0;
