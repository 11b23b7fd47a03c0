// Sequelize models of the registry. The schema itself is owned by migrations/; these map it for the services.
import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize'
import type { Availability, Lineage, MaterialType, OptOutChoice, QuantityUnit, SampleEventType, StaffRole, StorageTemperature } from '../server/domain/vocabulary.ts'

export class Biobank extends Model<InferAttributes<Biobank>, InferCreationAttributes<Biobank>> {
  declare id: CreationOptional<number>
  declare code: string
  declare name: string
  declare region: string
  declare createdAt: CreationOptional<Date>
}

export class Donor extends Model<InferAttributes<Donor>, InferCreationAttributes<Donor>> {
  declare id: CreationOptional<number>
  declare cprHmac: Buffer
  declare cprEncrypted: Buffer
  declare birthDate: string
  declare createdAt: CreationOptional<Date>
}

export class StaffUser extends Model<InferAttributes<StaffUser>, InferCreationAttributes<StaffUser>> {
  declare id: CreationOptional<number>
  declare issuer: string
  declare subject: string
  declare name: string
  declare role: StaffRole
  declare biobankId: ForeignKey<Biobank['id']> | null
  declare lastLoginAt: Date | null
  declare createdAt: CreationOptional<Date>
  declare updatedAt: CreationOptional<Date>
}

export class Sample extends Model<InferAttributes<Sample>, InferCreationAttributes<Sample>> {
  declare id: CreationOptional<number>
  declare publicId: CreationOptional<string>
  declare biobankId: ForeignKey<Biobank['id']>
  declare label: string
  declare donorId: ForeignKey<Donor['id']>
  declare materialType: MaterialType
  declare collectedAt: Date
  declare storageTemperature: StorageTemperature
  declare lineage: CreationOptional<Lineage>
  declare parentId: number | null
  declare quantity: string | null
  declare quantityUnit: QuantityUnit | null
  declare storageLocation: string | null
  declare sprec: string | null
  declare diagnosis: string | null
  declare availability: CreationOptional<Availability>
  declare version: CreationOptional<number>
  declare createdAt: CreationOptional<Date>
  declare updatedAt: CreationOptional<Date>
}

export class SampleEvent extends Model<InferAttributes<SampleEvent>, InferCreationAttributes<SampleEvent>> {
  declare id: CreationOptional<number>
  declare sampleId: ForeignKey<Sample['id']>
  declare eventType: SampleEventType
  declare occurredAt: Date
  declare details: CreationOptional<Record<string, unknown>>
  declare staffUserId: number | null
  declare recordedAt: CreationOptional<Date>
}

export class OptOut extends Model<InferAttributes<OptOut>, InferCreationAttributes<OptOut>> {
  declare donorId: number
  declare material: boolean
  declare genetic: boolean
  declare updatedAt: CreationOptional<Date>
}

export class OptOutEvent extends Model<InferAttributes<OptOutEvent>, InferCreationAttributes<OptOutEvent>> {
  declare id: CreationOptional<number>
  declare donorId: number
  declare choice: OptOutChoice
  declare optedOut: boolean
  declare channel: 'digital' | 'paper'
  declare actedBy: 'self' | 'parent' | 'staff'
  declare actedByDonorId: number | null
  declare actedByStaffId: number | null
  declare receiptReference: string
  declare materialAfter: boolean
  declare geneticAfter: boolean
  declare actedByName: string | null
  declare formToken: string | null
  declare createdAt: CreationOptional<Date>
}

export class Custody extends Model<InferAttributes<Custody>, InferCreationAttributes<Custody>> {
  declare parentCprHmac: Buffer
  declare childDonorId: number
  declare childName: CreationOptional<string>
  declare createdAt: CreationOptional<Date>
}

export class AuditEvent extends Model<InferAttributes<AuditEvent>, InferCreationAttributes<AuditEvent>> {
  declare id: CreationOptional<number>
  declare occurredAt: CreationOptional<Date>
  declare actorKind: 'citizen' | 'staff' | 'api_client' | 'system'
  declare actorStaffId: number | null
  declare actorDonorId: number | null
  declare action: string
  declare subjectDonorId: number | null
  declare sampleId: number | null
  declare details: CreationOptional<Record<string, unknown>>
  declare requestId: string | null
}

const id = { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true }
const bigintRef = (allowNull: boolean) => ({ type: DataTypes.BIGINT, allowNull })
const createdAt = { type: DataTypes.DATE, allowNull: false }
const text = (allowNull = false) => ({ type: DataTypes.TEXT, allowNull })

export interface Models {
  Biobank: typeof Biobank
  Donor: typeof Donor
  StaffUser: typeof StaffUser
  Sample: typeof Sample
  SampleEvent: typeof SampleEvent
  OptOut: typeof OptOut
  OptOutEvent: typeof OptOutEvent
  Custody: typeof Custody
  AuditEvent: typeof AuditEvent
}

export function initModels(sequelize: Sequelize): Models {
  const common = { sequelize, underscored: true, freezeTableName: true }
  Biobank.init(
    { id: { type: DataTypes.SMALLINT, autoIncrement: true, primaryKey: true }, code: text(), name: text(), region: text(), createdAt },
    { ...common, tableName: 'biobanks', updatedAt: false },
  )
  Donor.init(
    { id, cprHmac: { type: DataTypes.BLOB, allowNull: false }, cprEncrypted: { type: DataTypes.BLOB, allowNull: false }, birthDate: { type: DataTypes.DATEONLY, allowNull: false }, createdAt },
    { ...common, tableName: 'donors', updatedAt: false },
  )
  StaffUser.init(
    {
      id,
      issuer: text(),
      subject: text(),
      name: text(),
      role: text() as never,
      biobankId: { type: DataTypes.SMALLINT, allowNull: true },
      lastLoginAt: { type: DataTypes.DATE, allowNull: true },
      createdAt,
      updatedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { ...common, tableName: 'staff_users' },
  )
  Sample.init(
    {
      id,
      publicId: { type: DataTypes.UUID, allowNull: false, defaultValue: DataTypes.UUIDV4 },
      biobankId: { type: DataTypes.SMALLINT, allowNull: false },
      label: text(),
      donorId: bigintRef(false),
      materialType: text() as never,
      collectedAt: { type: DataTypes.DATE, allowNull: false },
      storageTemperature: text() as never,
      lineage: { type: DataTypes.TEXT, allowNull: false, defaultValue: 'primary' },
      parentId: bigintRef(true),
      quantity: { type: DataTypes.DECIMAL(14, 3), allowNull: true },
      quantityUnit: text(true) as never,
      storageLocation: text(true),
      sprec: text(true),
      diagnosis: text(true),
      availability: { type: DataTypes.TEXT, allowNull: false, defaultValue: 'available' },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      createdAt,
      updatedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { ...common, tableName: 'samples', version: true },
  )
  SampleEvent.init(
    {
      id,
      sampleId: bigintRef(false),
      eventType: text() as never,
      occurredAt: { type: DataTypes.DATE, allowNull: false },
      details: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
      staffUserId: bigintRef(true),
      recordedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { ...common, tableName: 'sample_events', timestamps: false },
  )
  OptOut.init(
    {
      donorId: { type: DataTypes.BIGINT, primaryKey: true },
      material: { type: DataTypes.BOOLEAN, allowNull: false },
      genetic: { type: DataTypes.BOOLEAN, allowNull: false },
      updatedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { ...common, tableName: 'opt_outs', createdAt: false },
  )
  OptOutEvent.init(
    {
      id,
      donorId: bigintRef(false),
      choice: text() as never,
      optedOut: { type: DataTypes.BOOLEAN, allowNull: false },
      channel: text() as never,
      actedBy: text() as never,
      actedByDonorId: bigintRef(true),
      actedByStaffId: bigintRef(true),
      receiptReference: text(),
      materialAfter: { type: DataTypes.BOOLEAN, allowNull: false },
      geneticAfter: { type: DataTypes.BOOLEAN, allowNull: false },
      actedByName: text(true),
      formToken: { type: DataTypes.UUID, allowNull: true },
      createdAt,
    },
    { ...common, tableName: 'opt_out_events', updatedAt: false },
  )
  Custody.init(
    { parentCprHmac: { type: DataTypes.BLOB, primaryKey: true }, childDonorId: { type: DataTypes.BIGINT, primaryKey: true }, childName: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' }, createdAt },
    { ...common, tableName: 'custody', updatedAt: false },
  )
  AuditEvent.init(
    {
      id,
      occurredAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      actorKind: text() as never,
      actorStaffId: bigintRef(true),
      actorDonorId: bigintRef(true),
      action: text(),
      subjectDonorId: bigintRef(true),
      sampleId: bigintRef(true),
      details: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
      requestId: text(true),
    },
    { ...common, tableName: 'audit_events', timestamps: false },
  )

  Sample.belongsTo(Biobank, { foreignKey: 'biobankId', as: 'biobank' })
  Sample.belongsTo(Donor, { foreignKey: 'donorId', as: 'donor' })
  Sample.belongsTo(Sample, { foreignKey: 'parentId', as: 'parent' })
  Sample.hasMany(Sample, { foreignKey: 'parentId', as: 'children' })
  Sample.hasMany(SampleEvent, { foreignKey: 'sampleId', as: 'events' })
  StaffUser.belongsTo(Biobank, { foreignKey: 'biobankId', as: 'biobank' })

  return { Biobank, Donor, StaffUser, Sample, SampleEvent, OptOut, OptOutEvent, Custody, AuditEvent }
}
